#!/usr/bin/perl
# The log workload's writer: LINES lines of exactly 100 bytes ("%09d " sequence number, 89 filler
# bytes, "\n") to stdout, with raw write(2) calls through syswrite (no stdio buffering):
#   MODE "line":  one write() per line (2,000,000 lines = 2,000,000 write calls);
#   MODE "block": 655 lines (65,500 bytes) per write().
# Its own CLOCK_MONOTONIC start and end times (ms, same clock as Node's process.hrtime) go to
# TIMES_FILE, so the bench can time exactly from the writer's exec to the last byte.
use strict;
use warnings;
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

my ($lines, $mode, $times_file) = @ARGV;
die "usage: log-writer.pl LINES line|block [TIMES_FILE]\n"
  unless defined $mode && $lines =~ /^\d+$/ && ($mode eq 'line' || $mode eq 'block');
my $t0 = clock_gettime(CLOCK_MONOTONIC);
my $filler = substr('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789' x 2, 0, 89);

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

if ($mode eq 'line') {
  for (my $i = 0; $i < $lines; $i++) {
    write_all(sprintf("%09d ", $i) . $filler . "\n");
  }
} else {
  my $buf = '';
  for (my $i = 0; $i < $lines; $i++) {
    $buf .= sprintf("%09d ", $i) . $filler . "\n";
    if (length($buf) >= 65500) { write_all($buf); $buf = ''; }
  }
  write_all($buf) if length $buf;
}
my $t1 = clock_gettime(CLOCK_MONOTONIC);
if (defined $times_file) {
  open(my $fh, '>', $times_file) or die "open $times_file: $!\n";
  printf $fh "%.3f %.3f\n", $t0 * 1000, $t1 * 1000;
  close $fh;
}
