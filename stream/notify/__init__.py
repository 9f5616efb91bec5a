"""The notifier: reads `alerts.badbuzz` and hands each alert to Prometheus Alertmanager, which
routes, groups, silences and sends it (e-mail, chat, webhooks). `badbuzz notify` runs it."""
