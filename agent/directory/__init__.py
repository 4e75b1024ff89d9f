"""The directory edge: the only package that talks LDAP (ldap3)."""
