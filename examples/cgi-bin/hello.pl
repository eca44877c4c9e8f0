#!/usr/bin/env perl
# Hello from Perl with CGI.pm (Debian: libcgi-pm-perl).
use strict;
use warnings;
use CGI qw(escapeHTML);

my $q = CGI->new;
my $name = $q->url_param('name') // 'world';
print $q->header(-type => 'text/html', -charset => 'utf-8');
print '<!doctype html><title>hello.pl</title>';
print '<h1>Hello, ', escapeHTML($name), "!</h1>\n";
print '<p>Perl says hi.</p>', "\n";
