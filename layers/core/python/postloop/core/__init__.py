"""Decisions, learning and content scoring. Imports nothing from boto3, redis, requests or openai."""
