"""The employer side of Parley: organizations, their Slack workspaces and members' roles,
ranked shortlists, decisions on applications, and notifications to the organization.

Why a capability package of its own: the Slack app (bot/slack/employer/) and the terminal
(`parley orgs`, `parley shortlist`) must apply the same access rules and show the same data,
so every rule lives here and the front ends only render. It imports storage, privacy,
screening and scheduling; never bot/.
"""
