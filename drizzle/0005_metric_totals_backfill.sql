-- Hand-written: runs finished before metric_totals existed are counted once,
-- so deploybot_runs_finished_total and the last success per deployment are
-- true from the first scrape after the upgrade.
INSERT INTO "metric_totals" ("metric", "labels", "value", "last_at")
SELECT 'runs_finished',
       jsonb_build_object('deployment', "deployment", 'environment', "environment", 'kind', "kind", 'outcome', "status"),
       count(*),
       max("finished_at")
FROM "runs"
WHERE "finished_at" IS NOT NULL
GROUP BY "deployment", "environment", "kind", "status"
ON CONFLICT DO NOTHING;
