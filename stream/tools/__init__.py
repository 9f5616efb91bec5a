"""Command-line tools around the worker: replaying a file, tailing the topics, the demo."""
