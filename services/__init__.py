"""The daemons flowlab runs inside emulated hosts: one service class and one
jinja2 template per daemon (templates in ``services/templates``)."""
