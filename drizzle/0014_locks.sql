CREATE TABLE "locks" (
	"id" text PRIMARY KEY NOT NULL,
	"scope" text NOT NULL,
	"target" text NOT NULL,
	"reason" text NOT NULL,
	"locked_by" text NOT NULL,
	"locked_via" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"unlocked_by" text,
	"unlocked_via" text,
	"unlocked_at" timestamp with time zone,
	CONSTRAINT "locks_scope_valid" CHECK ("locks"."scope" in ('deployment', 'environment', 'all'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "locks_one_per_target" ON "locks" USING btree ("scope","target") WHERE "locks"."unlocked_at" is null;