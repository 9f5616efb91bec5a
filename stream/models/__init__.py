"""The models a running worker serves: the champion it labels with, a challenger scored in
shadow, and the control topic that names them and where their bundles are (docs/models.md)."""
