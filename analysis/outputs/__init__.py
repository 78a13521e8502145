"""Where results go and how they were made, written by every analysis and the lambda selection:
``result_files`` (a result's JSON and Markdown files), ``run_folders`` (results/ for the full
protocol, else a run folder), ``provenance`` (the fields every result file carries) and
``measured_weights`` (whether a result was measured with the weights the checkpoint folder holds
now)."""
