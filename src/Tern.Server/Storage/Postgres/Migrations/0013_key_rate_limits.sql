-- A key may carry its own request budget (a token bucket: tokens per second and burst); NULL uses Tern:RateLimit.
ALTER TABLE api_keys ADD COLUMN rate_per_second INTEGER, ADD COLUMN rate_burst INTEGER;
