"""Hand-off documents built from casualty records: DD 1380, 9-line, MIST, FHIR."""
