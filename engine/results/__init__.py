"""What a plan leaves on disk: the results layout and journal (`store`) and the run and
group summaries (`summary`)."""
