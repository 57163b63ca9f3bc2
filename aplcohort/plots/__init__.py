"""aplcohort.plots"""
