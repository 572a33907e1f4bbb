CREATE TABLE "login_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"code_hash" text NOT NULL,
	"verifier_hash" text NOT NULL,
	"client_host" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"user_id" text,
	"approved_at" timestamp with time zone,
	"collected_at" timestamp with time zone,
	"token_id" text
);
--> statement-breakpoint
CREATE UNIQUE INDEX "login_requests_code" ON "login_requests" USING btree ("code_hash");