// The configuration file format lives in TallyConfig (shared with TallyIndex's policy
// files and tally-load's profiles); tallyd's users see it through TallyDaemon.
@_exported import TallyConfig
