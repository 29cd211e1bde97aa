"""dvcq shared library: settings, events, messaging, store, auth, clock, time rules, web base, logs."""
