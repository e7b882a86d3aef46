"""What a plan leaves on disk: the results layout and journal (`store`), the typed run and
group summaries with their one writer and reader (`schema`), and the builders that compute a
summary from a run's logs (`summary`)."""
