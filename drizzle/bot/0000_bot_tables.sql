CREATE TABLE "slack_homes" (
	"user_id" text PRIMARY KEY NOT NULL,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	"due" boolean DEFAULT true NOT NULL,
	"last_error" text
);
--> statement-breakpoint
CREATE TABLE "slack_messages" (
	"run_id" text PRIMARY KEY NOT NULL,
	"channel" text NOT NULL,
	"ts" text,
	"requested_by" text NOT NULL,
	"response_url" text,
	"delivered_version" integer DEFAULT 0 NOT NULL,
	"delivered_status" text,
	"delivered_log_id" bigint DEFAULT 0 NOT NULL,
	"plan_thread_id" text,
	"plan_thread_parts" integer DEFAULT 0 NOT NULL,
	"plan_thread_done" boolean DEFAULT false NOT NULL,
	"log_thread_parts" integer DEFAULT 0 NOT NULL,
	"log_thread_done" boolean DEFAULT false NOT NULL,
	"settled" boolean DEFAULT false NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"next_attempt_at" timestamp with time zone,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"last_update_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "slack_notices" (
	"run_id" text NOT NULL,
	"step" text NOT NULL,
	"target" text NOT NULL,
	"channel" text,
	"ts" text,
	"sent_at" timestamp with time zone,
	"remind_at" timestamp with time zone,
	"reminded_at" timestamp with time zone,
	"closed" boolean DEFAULT false NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "slack_notices_run_id_step_target_pk" PRIMARY KEY("run_id","step","target")
);
--> statement-breakpoint
CREATE TABLE "slack_requests" (
	"key" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"run_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "slack_messages" ADD CONSTRAINT "slack_messages_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "slack_notices" ADD CONSTRAINT "slack_notices_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "slack_homes_opened" ON "slack_homes" USING btree ("opened_at");--> statement-breakpoint
CREATE INDEX "slack_messages_unsettled" ON "slack_messages" USING btree ("run_id") WHERE "slack_messages"."settled" = false;--> statement-breakpoint
CREATE INDEX "slack_notices_open" ON "slack_notices" USING btree ("run_id") WHERE "slack_notices"."closed" = false;--> statement-breakpoint
CREATE INDEX "slack_requests_created" ON "slack_requests" USING btree ("created_at");