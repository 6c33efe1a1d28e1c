#!/bin/sh
# Starts Icecast with the icecast.xml template, its passwords filled in from
# files (docker secrets) or the environment, so none is baked into the image:
#   ICECAST_SOURCE_PASSWORD_FILE or ICECAST_SOURCE_PASSWORD   (required)
#   ICECAST_ADMIN_PASSWORD_FILE or ICECAST_ADMIN_PASSWORD     (default: random, the admin pages stay shut)
#   ICECAST_HOSTNAME                                          (default: localhost)
set -eu

TEMPLATE=${ICECAST_TEMPLATE:-/etc/openstudio/icecast.xml}
CONFIG=${ICECAST_CONFIG:-/tmp/icecast.xml}

# A secret from a file (surrounding whitespace trimmed, as the relay reads it) or a variable.
secret () {
  if [ -n "$1" ]; then
    perl -0777 -pe 's/^\s+|\s+$//g' "$1"
  else
    printf '%s' "$2"
  fi
}

SOURCE_PASSWORD=$(secret "${ICECAST_SOURCE_PASSWORD_FILE:-}" "${ICECAST_SOURCE_PASSWORD:-}")
if [ -z "$SOURCE_PASSWORD" ]; then
  echo "icecast: set ICECAST_SOURCE_PASSWORD_FILE (a docker secret) or ICECAST_SOURCE_PASSWORD" >&2
  exit 1
fi
ADMIN_PASSWORD=$(secret "${ICECAST_ADMIN_PASSWORD_FILE:-}" "${ICECAST_ADMIN_PASSWORD:-}")
[ -n "$ADMIN_PASSWORD" ] || ADMIN_PASSWORD=$(head -c 24 /dev/urandom | base64)
ICECAST_HOSTNAME=${ICECAST_HOSTNAME:-localhost}
export SOURCE_PASSWORD ADMIN_PASSWORD ICECAST_HOSTNAME

# Values go in XML-escaped, and literally (perl does not re-read them as a pattern).
umask 077
perl -pe '
  sub esc { my $v = shift; $v =~ s/&/&amp;/g; $v =~ s/</&lt;/g; $v =~ s/>/&gt;/g; $v =~ s/"/&quot;/g; $v }
  s/\@(SOURCE_PASSWORD|ADMIN_PASSWORD|ICECAST_HOSTNAME)\@/esc($ENV{$1})/ge
' "$TEMPLATE" > "$CONFIG"
exec icecast2 -c "$CONFIG"
