"""contradict: statement-contradiction detection over news articles.

stages/ holds one module per stage (ingest, normalize, segment, attribute, topics, pairing,
crossdoc, decide) and base.py the one shape of a stage; components.py wraps each as a stage
object and pipeline.py runs them in order (STAGES, a loop); run/ streams a corpus through
them and writes the outputs (sinks: CSV, JSONL, Parquet, HTML report); nli/ is the NLI model
(scoring, training, export); eval/ measures models and the pipeline; cli.py is the command.
"""

__version__ = "0.1.0"
