CREATE TABLE "approvals" (
	"run_id" text NOT NULL,
	"stage" text NOT NULL,
	"plan_id" text NOT NULL,
	"artifact_hash" text NOT NULL,
	"actor" text NOT NULL,
	"via" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "approvals_run_id_stage_pk" PRIMARY KEY("run_id","stage")
);
--> statement-breakpoint
CREATE TABLE "plan_artifacts" (
	"plan_id" text NOT NULL,
	"path" text NOT NULL,
	"mode" integer NOT NULL,
	"content" "bytea" NOT NULL,
	CONSTRAINT "plan_artifacts_plan_id_path_pk" PRIMARY KEY("plan_id","path")
);
--> statement-breakpoint
CREATE TABLE "plans" (
	"id" text PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"known" boolean NOT NULL,
	"add" integer NOT NULL,
	"change" integer NOT NULL,
	"destroy" integer NOT NULL,
	"changes" jsonb NOT NULL,
	"text" text NOT NULL,
	"artifact_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "run_logs" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "run_logs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"run_id" text NOT NULL,
	"phase" text NOT NULL,
	"stream" text NOT NULL,
	"line" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "run_transitions" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "run_transitions_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"run_id" text NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"actor" text NOT NULL,
	"via" text NOT NULL,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" text PRIMARY KEY NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "runs_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"deployment" text NOT NULL,
	"environment" text NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"requested_by" text NOT NULL,
	"requested_via" text NOT NULL,
	"channel" text,
	"variables" jsonb NOT NULL,
	"secret_variables" jsonb NOT NULL,
	"source" jsonb NOT NULL,
	"config" jsonb NOT NULL,
	"source_digest" text,
	"plan_id" text,
	"failed_phase" text,
	"error" text,
	"recovery_hint" text,
	"outputs" jsonb,
	"cancelled_by" text,
	"cancel_reason" text,
	"worker_id" text,
	"heartbeat_at" timestamp with time zone,
	"step_pid" integer,
	"step_attempt" integer DEFAULT 0 NOT NULL,
	"status_since" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "runs_status_valid" CHECK ("runs"."status" in ('queued', 'pending', 'initializing', 'planning', 'awaiting_plan_approval', 'awaiting_apply_approval', 'applying', 'destroying', 'verifying', 'rolling_back', 'completed', 'destroyed', 'no_changes', 'failed', 'cancelled', 'rolled_back', 'rollback_failed')),
	CONSTRAINT "runs_kind_valid" CHECK ("runs"."kind" in ('execute', 'destroy'))
);
--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "plan_artifacts" ADD CONSTRAINT "plan_artifacts_plan_id_plans_id_fk" FOREIGN KEY ("plan_id") REFERENCES "public"."plans"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "plans" ADD CONSTRAINT "plans_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_transitions" ADD CONSTRAINT "run_transitions_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "plans_run" ON "plans" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "run_logs_run" ON "run_logs" USING btree ("run_id","id");--> statement-breakpoint
CREATE INDEX "run_transitions_run" ON "run_transitions" USING btree ("run_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "runs_one_active_per_deployment" ON "runs" USING btree ("deployment") WHERE "runs"."status" in ('pending', 'initializing', 'planning', 'applying', 'destroying', 'verifying', 'rolling_back');--> statement-breakpoint
CREATE INDEX "runs_queue" ON "runs" USING btree ("deployment","seq") WHERE "runs"."status" = 'queued';--> statement-breakpoint
CREATE INDEX "runs_created" ON "runs" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "runs_status" ON "runs" USING btree ("status");