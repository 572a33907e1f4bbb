CREATE TABLE "policy_evaluations" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "policy_evaluations_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"run_id" text NOT NULL,
	"moment" text NOT NULL,
	"actor" text,
	"via" text,
	"config_version" text,
	"result" text NOT NULL,
	"evaluated" integer NOT NULL,
	"rules" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "policy_evaluations_result_valid" CHECK ("policy_evaluations"."result" in ('allowed', 'denied', 'failed'))
);
--> statement-breakpoint
ALTER TABLE "policy_evaluations" ADD CONSTRAINT "policy_evaluations_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "policy_evaluations_run" ON "policy_evaluations" USING btree ("run_id","id");