#!/usr/bin/perl
# The log workloads' writer: LINES lines of exactly 100 bytes ("%09d " sequence number, 89 filler
# bytes, "\n") to stdout, with raw write(2) calls through syswrite (no stdio buffering):
#   MODE "line":  one write() per line (2,000,000 lines = 2,000,000 write calls);
#   MODE "block": 655 lines (65,500 bytes) per write().
# Its own CLOCK_MONOTONIC start and end times (ms, same clock as Node's process.hrtime) and the
# number of lines it wrote go to TIMES_FILE ("START END LINES"), so the bench can time exactly
# from the writer's exec to the last byte and check that every line it wrote arrived.
# With SECONDS (the log firehose, workload 9) it stops by itself once SECONDS have passed on its
# clock (checked every 256 lines), or after LINES lines unless LINES is 0, then exits 0.
use strict;
use warnings;
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

my ($lines, $mode, $times_file, $seconds) = @ARGV;
die "usage: log-writer.pl LINES line|block [TIMES_FILE [SECONDS]]\n"
  unless defined $mode && $lines =~ /^\d+$/ && ($mode eq 'line' || $mode eq 'block')
  && (!defined $seconds || $seconds =~ /^\d+(\.\d+)?$/);
my $t0 = clock_gettime(CLOCK_MONOTONIC);
my $filler = substr('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789' x 2, 0, 89);
# Without SECONDS, LINES is the count; with it, LINES 0 means "until the time is up".
my $limit = (defined $seconds && $lines == 0) ? ~0 : $lines;
my $deadline = defined $seconds ? $t0 + $seconds : undef;

sub write_all {
  my ($s) = @_;
  my $off = 0;
  my $len = length $s;
  while ($off < $len) {
    my $w = syswrite(STDOUT, $s, $len - $off, $off);
    die "write: $!\n" unless defined $w;
    $off += $w;
  }
}

# The lines go out in batches of 256 with the clock read between batches (for every line it
# would cost more than the write): the inner loops are the plain ones of a fixed count.
my $i = 0;
my $buf = '';
while ($i < $limit) {
  my $end = $limit - $i > 256 ? $i + 256 : $limit;
  if ($mode eq 'line') {
    for (; $i < $end; $i++) {
      write_all(sprintf("%09d ", $i) . $filler . "\n");
    }
  } else {
    for (; $i < $end; $i++) {
      $buf .= sprintf("%09d ", $i) . $filler . "\n";
      if (length($buf) >= 65500) { write_all($buf); $buf = ''; }
    }
  }
  last if defined $deadline && clock_gettime(CLOCK_MONOTONIC) >= $deadline;
}
write_all($buf) if length $buf;
my $t1 = clock_gettime(CLOCK_MONOTONIC);
if (defined $times_file) {
  open(my $fh, '>', $times_file) or die "open $times_file: $!\n";
  printf $fh "%.3f %.3f %d\n", $t0 * 1000, $t1 * 1000, $i;
  close $fh;
}
