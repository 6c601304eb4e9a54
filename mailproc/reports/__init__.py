"""Reports: what the requests say about volume, response times, SLA, the KB, workload and topics."""
