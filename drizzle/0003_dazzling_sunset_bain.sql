CREATE TABLE "slack_homes" (
	"user_id" text PRIMARY KEY NOT NULL,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	"due" boolean DEFAULT true NOT NULL,
	"last_error" text
);
--> statement-breakpoint
CREATE INDEX "slack_homes_opened" ON "slack_homes" USING btree ("opened_at");