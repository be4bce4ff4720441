"""What can happen to an address's consent on a channel. Plain constants, shared by the pure
keyword and policy code and by the stored consent history."""

OPT_OUT, OPT_IN, HELP, BOUNCE, COMPLAINT = "opt_out", "opt_in", "help", "bounce", "complaint"
