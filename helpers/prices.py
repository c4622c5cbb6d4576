"""What the stack's parts cost on AWS: approximate list prices, declared once for the plan and the cost estimate."""

from __future__ import annotations

from helpers.config import Config

# Approximate us-east-1 list prices in USD (2025), before the free tier; check the AWS pricing pages.
PRICES = {
    "hosted_zone_month": 0.50,
    "health_check_month": 0.75,               # per check on an endpoint Route 53 does not class as AWS ($0.50 if it does)
    "health_check_option_month": 2.00,        # HTTPS, fast interval: each ($1.00 each for AWS endpoints)
    "traffic_policy_record_month": 50.00,
    "dns_queries_million": 0.40,              # standard queries (latency-based: $0.60)
    "rest_api_requests_million": 3.50,
    "lambda_requests_million": 0.20,
    "lambda_gb_second": 0.0000166667,
    "dynamodb_write_units_million": 0.625,    # on-demand; a replicated write is billed in every other region too
    "dynamodb_read_units_million": 0.125,
}


def health_check_monthly_usd(cfg: Config) -> float:
    """One health check per month: HTTPS is an option, and so is the fast (10 s) interval."""
    options = 1 + (cfg.health_check_interval == 10)
    return PRICES["health_check_month"] + options * PRICES["health_check_option_month"]


def dynamodb_usd(write_units: float, read_units: float) -> float:
    """On-demand DynamoDB requests: write units (every replica's, a witness's included) and read units."""
    return (write_units * PRICES["dynamodb_write_units_million"] + read_units * PRICES["dynamodb_read_units_million"]) / 1e6
