"""The bounded load test: its plan, its locust users and its report (bin/loadtest)."""
