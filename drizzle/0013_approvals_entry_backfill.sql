-- Approvals stored before requirement entries all counted for the one
-- requirement a deployment had (entry 0).
UPDATE "approvals" SET "entry" = 0 WHERE "entry" IS NULL;
