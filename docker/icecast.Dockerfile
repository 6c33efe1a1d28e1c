# Icecast 2.4 beside an OpenStudio relay (docker/compose.yml): Debian's icecast2,
# run as its own unprivileged user, with icecast.xml as a template whose passwords
# come from docker secrets or the environment at start (icecast-entrypoint.sh).
#   docker build -f docker/icecast.Dockerfile -t openstudio-icecast docker
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends icecast2 \
 && rm -rf /var/lib/apt/lists/*
COPY icecast.xml /etc/openstudio/icecast.xml
COPY --chmod=0755 icecast-entrypoint.sh /usr/local/bin/icecast-entrypoint
USER icecast2
EXPOSE 8000
# perl-base is in every Debian image; curl is not.
HEALTHCHECK --interval=30s --timeout=5s CMD ["perl", "-MIO::Socket::INET", "-e", "exit !IO::Socket::INET->new(PeerAddr => '127.0.0.1:8000', Timeout => 3)"]
ENTRYPOINT ["/usr/local/bin/icecast-entrypoint"]
