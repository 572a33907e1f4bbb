ALTER TABLE "runs" ADD COLUMN "audit_pruned_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "runs_failed_seq" ON "runs" USING btree ("seq") WHERE "runs"."status" in ('failed', 'rolled_back', 'rollback_failed');--> statement-breakpoint
CREATE INDEX "runs_failed_deployment_seq" ON "runs" USING btree ("deployment","seq") WHERE "runs"."status" in ('failed', 'rolled_back', 'rollback_failed');--> statement-breakpoint
CREATE INDEX "runs_audit_prunable" ON "runs" USING btree ("finished_at") WHERE "runs"."finished_at" is not null and "runs"."audit_pruned_at" is null;--> statement-breakpoint
CREATE INDEX "runs_finished" ON "runs" USING btree ("finished_at") WHERE "runs"."finished_at" is not null;