"""What a host is started with: local.settings.json and host.json (each host.json section read on its own),
the state folder kept for the next start, the approval signing key it provides, the host clock, and the
one-line error for whatever it cannot start with. The lowest layer: imports no other part of devhost."""
