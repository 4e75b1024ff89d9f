"""The mail face (issue 14): reminders to sponsors rendered as email and sent over SMTP.

A face like agent.cli and agent.service: it calls agent.actions.reminders and supplies its Sender;
it never speaks LDAP."""
