"""Sở Nội vụ's board (Vietnamese, server-rendered): a period's compliance, totals and overdue list; a unit's report
and revisions; extensions, waivers and closing the period's figures.

Modules: `views` (routes, forms, who may do what), `present` (what a row, a figure or a report shows, in
Vietnamese), `charts` (bar geometry). The pages read the aggregator's read models through the same handlers as
the JSON API; a unit's report comes from intake and extension requests go to the scheduler through the clients
`bootstrap` built, with the person's own token, so each service still decides what that person may do.
"""
