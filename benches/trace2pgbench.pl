#!/usr/bin/perl
# benches/trace2pgbench.pl: turns the SQL statements that growth-diary logged for one
# request (RUST_LOG=growth_diary::sql=trace with LOG_SQL_BINDS=true) into a pgbench script with the bind
# values written in as SQL literals.
#
# Usage: perl trace2pgbench.pl REQUEST_LOG [BASELINE_LOG] > feed.pgbench
#
#   REQUEST_LOG   the server's log lines written while the request ran
#   BASELINE_LOG  log lines written while the server was idle: statements whose SQL
#                 text also appears there (background jobs such as the e-mail outbox
#                 poller) are left out
#
# Each trace event looks like
#   2026-11-22T03:08:01.874851Z TRACE growth_diary::sql: SELECT ... $1 ... -- binds: [Published, 51]
# where the SQL may span several lines and the binds are Rust `Debug` renderings.
# The binds are read with a small parser and written as literals:
#   uuid                -> '…'::uuid             list of uuids -> '{…}'::uuid[]
#   list of 8+ ints 0..255 (a Vec<u8>, e.g. the sha256 of the session token) -> '\x…'::bytea
#   integer, float, bool -> as is              "string"        -> '…' (type inferred by PostgreSQL)
#   CamelCase enum value -> 'SCREAMING_SNAKE'   (diesel-derive-enum's DbValueStyle of this crate)
#   RFC 3339 timestamp  -> '20260930T204943.693511Z'::timestamptz (ISO 8601 basic: no ':')
#   Some(x) -> x, None -> NULL
#   PgInterval { microseconds, days, months } -> interval '…'
# pgbench reads ":name" as a variable even inside string literals, so a literal that
# contains ':' (other than a timestamp) is written as a concatenation with chr(58).
# Prints "statements: N" to stderr.
use strict;
use warnings;

my ($request_log, $baseline_log) = @ARGV;
die "usage: $0 REQUEST_LOG [BASELINE_LOG]\n" unless defined $request_log;

# Reads the growth_diary::sql trace events of a log file: a list of [sql, binds-text].
sub events {
    my ($path) = @_;
    open my $fh, '<', $path or die "cannot read $path: $!\n";
    my (@events, $current);
    while (my $line = <$fh>) {
        $line =~ s/\e\[[0-9;]*m//g;    # strip ANSI colours, should the log have them
        if ($line =~ /^\d{4}-\d\d-\d\dT\S+\s+(\S+)\s+(\S+):\s(.*)$/s) {
            push @events, $current if defined $current;
            my ($level, $target, $text) = ($1, $2, $3);
            $current = ($level eq 'TRACE' && $target eq 'growth_diary::sql') ? $text : undef;
        } elsif (defined $current) {
            $current .= $line;         # continuation line of a multi-line statement
        }
    }
    push @events, $current if defined $current;
    my @out;
    for my $text (@events) {
        $text =~ s/\s+\z//;
        my $at = rindex $text, ' -- binds: ';
        if ($at < 0) {                 # BEGIN, COMMIT: no binds
            push @out, [$text, '[]'];
        } else {
            push @out, [substr($text, 0, $at), substr($text, $at + length ' -- binds: ')];
        }
    }
    return @out;
}

# --- a parser of Rust Debug output ---------------------------------------------------
my $src;
my $pos;

sub ws { $pos++ while $pos < length $src && substr($src, $pos, 1) =~ /\s/ }

sub peek { ws(); return substr($src, $pos, 1) }

sub expect {
    my ($c) = @_;
    ws();
    die "expected '$c' at $pos in: $src\n" unless substr($src, $pos, 1) eq $c;
    $pos++;
}

sub parse_value {
    my $c = peek();
    if ($c eq '[') {
        $pos++;
        my @items;
        if (peek() eq ']') { $pos++; return { list => \@items } }
        while (1) {
            push @items, parse_value();
            my $d = peek();
            $pos++;
            last if $d eq ']';
            die "expected ',' or ']' at $pos in: $src\n" unless $d eq ',';
        }
        return { list => \@items };
    }
    if ($c eq '"') {
        $pos++;
        my $s = '';
        while (1) {
            die "unterminated string in: $src\n" if $pos >= length $src;
            my $ch = substr($src, $pos++, 1);
            last if $ch eq '"';
            if ($ch eq '\\') {
                my $e = substr($src, $pos++, 1);
                if    ($e eq 'n') { $s .= "\n" }
                elsif ($e eq 't') { $s .= "\t" }
                elsif ($e eq 'r') { $s .= "\r" }
                elsif ($e eq '0') { $s .= "\0" }
                elsif ($e eq 'u' && substr($src, $pos) =~ /^\{([0-9a-fA-F]+)\}/) {
                    $s .= chr hex $1;
                    $pos += 2 + length $1;
                }
                else { $s .= $e }
            } else {
                $s .= $ch;
            }
        }
        return { str => $s };
    }
    # a bare token: up to the next delimiter at this level
    substr($src, $pos) =~ /^([^,\[\]\(\)\{\}\s]+)/ or die "unexpected '$c' at $pos in: $src\n";
    my $token = $1;
    $pos += length $token;
    if ($token eq 'Some' && peek() eq '(') {
        $pos++;
        my $inner = parse_value();
        expect(')');
        return $inner;
    }
    return { null => 1 } if $token eq 'None';
    if (peek() eq '{') {               # a struct: Name { field: value, ... }
        $pos++;
        my %fields;
        while (peek() ne '}') {
            substr($src, $pos) =~ /^(\w+)\s*:/ or die "bad struct field at $pos in: $src\n";
            $pos += length $&;
            $fields{$1} = parse_value();
            $pos++ if peek() eq ',';
        }
        $pos++;
        return { struct => $token, fields => \%fields };
    }
    if (peek() eq '(') {               # a tuple struct: Name(value)
        $pos++;
        my $inner = parse_value();
        expect(')');
        return $inner;
    }
    return { bare => $token };
}

sub parse_binds {
    my ($text) = @_;
    ($src, $pos) = ($text, 0);
    my $v = parse_value();
    die "binds are not a list: $text\n" unless exists $v->{list};
    return @{ $v->{list} };
}

# --- to SQL literals -------------------------------------------------------------------
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

# A quoted literal that pgbench leaves alone (no ':' inside).
sub quote {
    my ($s) = @_;
    my @parts = map { (my $p = $_) =~ s/'/''/g; "'$p'" } split /:/, $s, -1;
    return $parts[0] if @parts == 1;
    return '(' . join(' || chr(58) || ', @parts) . ')';
}

sub enum_value {
    my ($name) = @_;
    $name =~ s/(?<=[a-z0-9])([A-Z])/_$1/g;
    $name =~ s/(?<=[A-Z])([A-Z][a-z])/_$1/g;
    return uc $name;
}

sub scalar_sql {
    my ($v) = @_;
    return 'NULL' if $v->{null};
    return quote($v->{str}) if exists $v->{str};
    if (exists $v->{struct}) {
        my $f = $v->{fields};
        if ($v->{struct} eq 'PgInterval') {
            return sprintf "interval '%d months %d days %d microseconds'",
              map { $f->{$_}{bare} // 0 } qw(months days microseconds);
        }
        die "cannot write a $v->{struct} as SQL\n";
    }
    die "cannot write a nested list as a scalar\n" if exists $v->{list};
    my $t = $v->{bare};
    return $t if $t =~ /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/ || $t eq 'true' || $t eq 'false';
    return "'$t'::uuid" if $t =~ $UUID;
    # timestamps in ISO 8601 basic format (20260930T204943.693511Z), which has no ':'
    if ($t =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d(?:\.\d+)?)(Z|[+-]\d\d:?\d\d)?$/) {
        my ($zone, $type) = defined $7 ? ($7, 'timestamptz') : ('', 'timestamp');
        $zone =~ s/://;
        return "'$1$2$3T$4$5$6$zone'::$type";
    }
    if ($t =~ /^\d{4}-\d\d-\d\d$/)                          { return "'$t'::date" }
    return quote(enum_value($t)) if $t =~ /^[A-Z][A-Za-z0-9]*$/;
    return quote($t);
}

sub value_sql {
    my ($v) = @_;
    return scalar_sql($v) unless exists $v->{list};
    my @items = @{ $v->{list} };
    if (@items >= 8 && !grep { !defined $_->{bare} || $_->{bare} !~ /^\d+$/ || $_->{bare} > 255 } @items) {
        return "'\\x" . join('', map { sprintf '%02x', $_->{bare} } @items) . "'::bytea";
    }
    if (@items && !grep { !defined $_->{bare} || $_->{bare} !~ $UUID } @items) {
        return "'{" . join(',', map { $_->{bare} } @items) . "}'::uuid[]";
    }
    # other arrays: ARRAY[...] of the scalar literals (an empty one as an untyped '{}')
    return "'{}'" unless @items;
    return 'ARRAY[' . join(', ', map { scalar_sql($_) } @items) . ']';
}

# --- main --------------------------------------------------------------------------------
my %background;
if (defined $baseline_log) {
    $background{ $_->[0] } = 1 for events($baseline_log);
}
my @statements;
for my $event (events($request_log)) {
    my ($sql, $binds) = @$event;
    next if $background{$sql};
    my @values = map { value_sql($_) } parse_binds($binds);
    (my $filled = $sql) =~ s/\$(\d+)/
        $1 >= 1 && $1 <= @values ? $values[$1 - 1] : die "no bind for \$$1 in: $sql\n"/ge;
    $filled =~ s/\s+\z//;
    $filled =~ s/;\z//;
    push @statements, $filled;
}
die "no growth_diary::sql statements found in $request_log\n" unless @statements;
print "-- One feed page as growth-diary ran it, captured with RUST_LOG=growth_diary::sql=trace\n";
print "-- by benches/load.sh; bind values written in as literals by benches/trace2pgbench.pl.\n";
print "-- Statements: ", scalar(@statements), "\n";
print "$_;\n" for @statements;
print STDERR "statements: ", scalar(@statements), "\n";
