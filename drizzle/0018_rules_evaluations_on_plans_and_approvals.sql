ALTER TABLE "approvals" ADD COLUMN "rules_evaluated" integer;--> statement-breakpoint
ALTER TABLE "approvals" ADD COLUMN "rules_matched" jsonb;--> statement-breakpoint
ALTER TABLE "approvals" ADD COLUMN "rules_from_plan" boolean;--> statement-breakpoint
ALTER TABLE "approvals" ADD COLUMN "rules_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "plans" ADD COLUMN "rules_evaluated" integer;--> statement-breakpoint
ALTER TABLE "plans" ADD COLUMN "rules_matched" jsonb;