"""aplcohort.cohort"""
