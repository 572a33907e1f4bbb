CREATE TABLE "metric_totals" (
	"metric" text NOT NULL,
	"labels" jsonb NOT NULL,
	"value" bigint DEFAULT 0 NOT NULL,
	"last_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "metric_totals_metric_labels_pk" PRIMARY KEY("metric","labels")
);
