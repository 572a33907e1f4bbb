ALTER TABLE "plans" ADD COLUMN "rules_evaluated" integer;--> statement-breakpoint
ALTER TABLE "plans" ADD COLUMN "rules_matched" jsonb;