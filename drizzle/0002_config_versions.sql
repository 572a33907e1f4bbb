CREATE TABLE "config_publications" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "config_publications_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"hash" text NOT NULL,
	"published_by" text NOT NULL,
	"published_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "config_versions" (
	"hash" text PRIMARY KEY NOT NULL,
	"file" text NOT NULL,
	"deployments" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "config_version" text;--> statement-breakpoint
ALTER TABLE "config_publications" ADD CONSTRAINT "config_publications_hash_config_versions_hash_fk" FOREIGN KEY ("hash") REFERENCES "public"."config_versions"("hash") ON DELETE no action ON UPDATE no action;