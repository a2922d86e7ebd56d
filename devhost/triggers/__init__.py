"""The triggers devhost listens for itself, as the Functions extensions do: the timer (on NCRONTAB
schedules), queues and blob containers, and what a running host starts for them."""
