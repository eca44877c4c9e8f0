#!/usr/bin/env perl
# A form in Perl with CGI.pm: GET shows the form, POST echoes the fields (CGI.pm reads and
# decodes the urlencoded or multipart body from stdin).
use strict;
use warnings;
use CGI qw(escapeHTML);

my $q = CGI->new;
print $q->header(-type => 'text/html', -charset => 'utf-8');
print "<!doctype html><title>form.pl</title><h1>Perl form</h1>\n";
if ($q->request_method eq 'POST') {
    my $name    = $q->param('name')    // '';
    my $message = $q->param('message') // '';
    print '<p>Thanks, ', escapeHTML($name), '. You wrote: ', escapeHTML($message), "</p>\n";
}
print <<'HTML';
<form method="post">
  <label>Name <input name="name"></label>
  <label>Message <input name="message"></label>
  <button>Send</button>
</form>
HTML
