"""The administrators' console (issue 13), a face: it parses requests, calls the same actions as the
command line (agent.actions) and renders their results; nothing else.

- `app`: the application factory `create_app(config, clock)`, security headers, languages;
- `auth`: sign-in against the directory, sessions, throttling (`throttle`);
- `pages`: the seed's pages, each handler calling one action;
- `chart`: the forecast's server-rendered SVG;
- `server`: `hwb-agent web`, served by waitress.
"""
