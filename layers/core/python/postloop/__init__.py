"""postloop: a self-learning posting loop for X.

`postloop.core` holds the decisions, learning and content scoring (plain Python and
numpy, no cloud); `postloop.adapters` connects them to DynamoDB, Redis, X and OpenAI;
`postloop.runtime` holds what the Lambda handlers share (settings, observability,
wiring).
"""
