"""The four dvcq services: intake, scheduler, notifier, aggregator."""
