"""Real directory servers for tests, started by the test session itself.

Fixtures (tests/conftest.py, session-scoped; skipped when the server is not
installed, failing instead when the environment variable CI is set):

- ``slapd_server``: OpenLDAP slapd set up with deploy/openldap (schema,
  ppolicy, last bind, indexes, ACL, limits); ~0.1 s.
- ``samba_server``: Samba AD DC on 127.0.0.2:389 (or 127.0.2.x) with the
  deploy/active-directory schema, copied from a domain provisioned once per
  session; ~6-12 s (provisioning), ~1 s with HWB_TEST_CACHE_DIR.
- ``samba_second_dc``: a second DC of the same domain on another address (a
  copy, not a replica: nothing replicates, as with the per-DC lastLogon);
  ~1 s.
- ``ds389_server``: 389-DS with deploy/389ds (schema, Account Policy, agent
  ACIs); ~6-7 s.

Each returns a ``TestServer`` (tests/servers/base.py): ``flavour``, ``url``,
``ldapi_url`` (slapd), ``suffix``, ``base_dn``, ``admin_dn`` /
``admin_password``, ``agent_dn`` / ``agent_password``, ``size_limit``,
``timings``; and ``connect()``, ``can_bind()``, ``bind_result()``,
``add_ldif()``, ``add_user()``, ``user_dn()``, ``user_ldif()``,
``child_ldif()``, ``purge()``, ``delete_subtree()``, ``clear_base()``,
``time_value()``, ``write_count()``, ``operation_counts()`` (slapd, 389-DS),
``age()``, ``stop()``, ``start()``, ``restart()``. Samba adds
``kerberos_sign_in()``.

Set HWB_KEEP_TEST_SERVERS=1 to keep the servers' directories for a post-mortem,
and HWB_TEST_CACHE_DIR=DIR to keep the provisioned Samba domain between
sessions (a re-run then starts the DC in ~1 s; CI leaves it unset).
"""
