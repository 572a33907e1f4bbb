ALTER TABLE "approvals" DROP CONSTRAINT "approvals_run_id_stage_pk";--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_run_id_stage_actor_pk" PRIMARY KEY("run_id","stage","actor");--> statement-breakpoint
ALTER TABLE "approvals" ADD COLUMN "entry" integer;--> statement-breakpoint
ALTER TABLE "approvals" ADD COLUMN "override_reason" text;