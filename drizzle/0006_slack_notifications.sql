CREATE TABLE "slack_homes" (
	"user_id" text PRIMARY KEY NOT NULL,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	"due" boolean DEFAULT true NOT NULL,
	"last_error" text
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
ALTER TABLE "slack_notices" ADD CONSTRAINT "slack_notices_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "slack_homes_opened" ON "slack_homes" USING btree ("opened_at");--> statement-breakpoint
CREATE INDEX "slack_notices_open" ON "slack_notices" USING btree ("run_id") WHERE "slack_notices"."closed" = false;