"""The streaming side of badbuzz: settings, the Faust application, its agents and the CLI."""
