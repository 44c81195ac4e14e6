"""featureplat feature definitions for the churn model, over the Feast views in
feature_definitions.py. `featureplat apply` checks them against the views and records
their compiled plans; training and serving both run those plans."""
import featureplat as fp

sessions = fp.col("sessions_7d")
failed = fp.col("failed_payments_90d")
tenure_days = fp.col("event_timestamp").dt.diff_seconds(fp.col("signup_at")) / 86_400.0

churn_features = fp.FeatureSet(
    "churn_features",
    inputs={
        "sessions_7d": fp.feast("customer_activity:sessions_7d", "int64"),
        "watch_minutes_7d": fp.feast("customer_activity:watch_minutes_7d", "float64"),
        "support_tickets_30d": fp.feast("customer_activity:support_tickets_30d", "int64"),
        "monthly_price": fp.feast("customer_billing:monthly_price", "float64"),
        "failed_payments_90d": fp.feast("customer_billing:failed_payments_90d", "int64"),
        "plan_tier": fp.feast("customer_billing:plan_tier", "string"),
        "signup_at": fp.feast("customer_profile:signup_at", "timestamp"),
        "country": fp.feast("customer_profile:country", "string"),
        "age": fp.feast("customer_profile:age", "int64"),
        "competitor_promo": fp.feast("region_stats:competitor_promo", "bool"),
        "price_index": fp.feast("region_stats:price_index", "float64"),
        "offer_discount_pct": fp.request("float64"),
        "channel": fp.request("string"),
        "event_timestamp": fp.request("timestamp"),
    },
    features={
        "active_recently": ~sessions.is_null(),
        "log_sessions": sessions.fill_null(0).log1p(),
        "watch_z": fp.col("watch_minutes_7d").impute("median").log1p().standard_scale(),
        "tickets": fp.col("support_tickets_30d").fill_null(0).clip(0, 10),
        "price_scaled": fp.col("monthly_price").robust_scale(),
        "failed_payments": failed.fill_null(0),
        "has_failed_payment": failed.fill_null(0) > 0,
        "tier_id": fp.col("plan_tier").vocabulary(num_oov_buckets=1),
        "tenure_bucket": tenure_days.quantile_bucketize(8),
        "age_z": fp.col("age").impute("median").standard_scale(),
        "country": fp.col("country").one_hot(),
        "competitor_promo": fp.col("competitor_promo").fill_null(False),
        "price_index_mm": fp.col("price_index").fill_missing(100.0).min_max_scale(),
        "discount": fp.col("offer_discount_pct") / 100.0,
        "via_app": fp.col("channel") == "app",
        "evening": fp.col("event_timestamp").dt.hour() >= 18,
    },
)
