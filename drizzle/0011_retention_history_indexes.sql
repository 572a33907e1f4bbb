ALTER TABLE "runs" ADD COLUMN "logs_pruned_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "artifacts_pruned_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "runs_seq" ON "runs" USING btree ("seq");--> statement-breakpoint
CREATE INDEX "runs_deployment_seq" ON "runs" USING btree ("deployment","seq");--> statement-breakpoint
CREATE INDEX "runs_status_seq" ON "runs" USING btree ("status","seq");--> statement-breakpoint
CREATE INDEX "runs_requested_by_seq" ON "runs" USING btree ("requested_by","seq");--> statement-breakpoint
CREATE INDEX "runs_deployment_status_seq" ON "runs" USING btree ("deployment","status","seq");--> statement-breakpoint
CREATE INDEX "runs_logs_prunable" ON "runs" USING btree ("finished_at") WHERE "runs"."finished_at" is not null and "runs"."logs_pruned_at" is null;--> statement-breakpoint
CREATE INDEX "runs_artifacts_prunable" ON "runs" USING btree ("finished_at") WHERE "runs"."finished_at" is not null and "runs"."artifacts_pruned_at" is null;--> statement-breakpoint
CREATE INDEX "runs_last_completed" ON "runs" USING btree ("deployment","finished_at") WHERE "runs"."status" = 'completed';